"""Loading the files in ``seeds/``: reference catalogues and demonstration data."""
