"""dunning_batch: turns an ERP's accounts-receivable exports into dunning letters."""

__version__ = "0.1.0"
