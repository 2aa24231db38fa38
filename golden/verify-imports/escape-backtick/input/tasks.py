from celery import Celery
import redis
