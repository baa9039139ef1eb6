"""The language model behind one interface: Gemini through google-genai, or the offline model.
May import: core, schemas.
"""
