"""mlpipe: from a CSV file to a serverless XGBoost inference architecture on AWS."""

__version__ = "0.1.0"
