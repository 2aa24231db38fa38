import pandas
import streamlit as st
