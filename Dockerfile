# Training environment for ClearBG (CPU). For CUDA, start from an nvidia/cuda runtime image and
# install the matching torch wheel instead of the pinned CPU one.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends git libgl1 libglib2.0-0 unzip \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /clearbg
COPY pyproject.toml README.md ./
COPY clearbg_desktop ./clearbg_desktop
COPY training ./training
COPY resources ./resources
COPY params.yaml dvc.yaml ./
RUN pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
    && pip install --no-cache-dir -e ".[train]"
# Mount the data and the teacher: docker run -v $PWD/../shared:/shared -v $PWD/teacher:/clearbg/teacher ...
# (params.yaml reads ../shared/data relative to the repo, so mount /shared beside /clearbg.)
ENTRYPOINT ["python", "-m", "training"]
CMD ["train"]
