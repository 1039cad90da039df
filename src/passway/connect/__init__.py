"""The hosted connect page: end customers connect their own accounts (see ``sessions``)."""
