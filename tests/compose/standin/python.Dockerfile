# Stand-in for python:3.11-slim-bookworm, made from Debian bookworm's own packages (its python3
# is 3.11), for machines that cannot pull images. `python` and `pip` on PATH as in the official
# image; pip may install system-wide (the Dockerfile's build stage installs uv with it). It
# trusts the certificates the building machine trusts (host-ca.crt: a TLS-inspecting proxy's CA,
# say), so pip and uv reach the package registry as the machine does.
FROM wog-standin/debian:bookworm
COPY host-ca.crt /usr/local/share/host-ca.crt
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-pip python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* /usr/lib/python3*/EXTERNALLY-MANAGED \
 && ln -s /usr/bin/python3 /usr/local/bin/python \
 && ln -s /usr/bin/pip3 /usr/local/bin/pip \
 && cat /usr/local/share/host-ca.crt >> /etc/ssl/certs/ca-certificates.crt
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
