"""lionserve: the PyTorch reference of lion-serve.

Modules:
  oracle     float64 NumPy reference of the LION attention core (docs/lion-math.md)
  attention  the attention core in torch: full, chunk (state-passing) and RNN forms
  models     LionBert and LionVit, and the model-directory format (docs/model-format.md)
  golden     forward outputs and random model directories for parity tests
  convert    official LION checkpoints -> our model directory
"""
