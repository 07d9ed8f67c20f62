"""The service catalogue: loading/validation, search, answer shaping, NLU build step.

The YAML files in bot/catalogue/matters/ are the one source of truth; everything
else (Rasa training data, answers, the search index) is derived from them.
"""
from catalogue.loader import Catalogue, CatalogueError, load_catalogue

__all__ = ["Catalogue", "CatalogueError", "load_catalogue"]
