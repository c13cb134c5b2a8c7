# The project's Airflow image: the official Airflow base plus this package, installed from the lock file.
FROM apache/airflow:3.3.2-python3.11
USER root
COPY --chown=airflow:root . /opt/pipeline
USER airflow
WORKDIR /opt/pipeline
RUN pip install --no-cache-dir uv \
 && uv export --frozen --no-dev --no-hashes --no-emit-project -o /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt psycopg2-binary \
 && pip install --no-cache-dir --no-deps .
