import aiogram
import redis
