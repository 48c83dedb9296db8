"""gettext catalogues: labeld.pot and <lang>/LC_MESSAGES/labeld.po."""
