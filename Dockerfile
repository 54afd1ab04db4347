# The shop image: one static binary, nothing else. It is built from a
# binary compiled on the host (`make image` stages bin/image/ as the build
# context), because no base image can be pulled here: no `FROM golang`
# stage, and FROM scratch needs nothing from a registry.
#
#   make image                     # builds shop:latest (IMAGE=… to rename)
#   docker run --rm shop version
#   docker run -p 8080:8080 -v shop-data:/data shop serve
FROM scratch

# TLS roots for amqps:// and mongodb+srv://, and a passwd/group naming
# the unprivileged user the process runs as (uid 65532, as distroless).
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY passwd group /etc/
# /data is the embedded database's directory when no MongoDB is set; it
# must exist owned by the user, since scratch has no mkdir.
COPY --chown=65532:65532 data/ /data/
COPY shop /shop

USER 65532:65532
VOLUME ["/data"]
ENV SHOP_DATABASE_URL=sqlite:///data \
    SHOP_HTTP_ADDR=0.0.0.0:8080 \
    SHOP_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=4s --start-period=20s --retries=3 CMD ["/shop", "healthcheck"]
ENTRYPOINT ["/shop"]
CMD ["serve"]
