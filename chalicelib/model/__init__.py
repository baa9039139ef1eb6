"""The language model behind one small interface: Gemini through google-genai, or the offline model.

May import `core` and `schemas` only.
"""
