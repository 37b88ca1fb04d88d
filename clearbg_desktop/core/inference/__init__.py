"""Photo -> mask: everything that decides how sure the model is that a pixel belongs to the subject.

Model definitions (``model``, ``model_families``), weights and their manifests (``weights``, ``model_io``,
``official_weights``, ``onnx_reader``), the user's model library and downloads, the engines that run a
model (PyTorch, ONNX Runtime with each family's pre- and post-processing: the ONLY preprocessing in the app),
which engine and precision run here (``engine_choice``, ``devices``, ``accelerators``: ONNX Runtime's GPU
providers), the ``Segmenter`` and the doubt score.

May import: ``core.imaging`` (to read a sample photo, write atomically) and the shared helpers
``core.paths`` / ``core.file_hash``. Never ``core.editing``, the GUI or ``training``.
"""
