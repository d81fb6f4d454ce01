"""The flowpose trainer (imported as ``flowpose.trainer``; needs the ``train`` extra).

Nothing here is imported by the runtime: ``flowpose train``/``eval``/``export`` reach it
lazily, so ``import flowpose`` never pulls in torch.
"""
