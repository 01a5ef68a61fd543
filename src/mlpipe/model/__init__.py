"""Training data, XGBoost training, the SageMaker container contract and the model artifact.

Modules here import numpy/xgboost at the top: import them only inside functions that train.
"""
