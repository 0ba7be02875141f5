"""Models-from-code entry: MLflow stores this file instead of a pickled PythonModel instance."""

import mlflow

from pyfunc.model import ToxicityModel

mlflow.models.set_model(ToxicityModel())
