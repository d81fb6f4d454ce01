"""The top-down pose :class:`~flowpose.trainer.engine.Task`: data, model, loss, evaluation, export."""
