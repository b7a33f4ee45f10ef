"""Pure domain: manifest model, presumption engine, scoring, evidence rules.

Only the standard library and app.errors may be imported here.
"""
