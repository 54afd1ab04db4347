// Package deploy holds no code: it is where the tests of the production
// shape live — the image built by the Dockerfile and compose.yaml, the ten
// services with RabbitMQ and a MongoDB replica set. deploy/README.md is the
// operator's guide.
package deploy
