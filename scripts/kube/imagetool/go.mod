// Module imagetool writes OCI image tarballs without Docker or a registry (see ../images.sh),
// and holds the tiny programs the test cluster's images run (pause, redis). It lives apart
// from the lameduck module so go-containerregistry never enters its go.mod.
module github.com/lameduck-dev/lameduck/scripts/kube/imagetool

go 1.26.0

require (
	github.com/alicebob/miniredis/v2 v2.40.0
	github.com/google/go-containerregistry v0.22.1
)

require (
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	github.com/yuin/gopher-lua v1.1.1 // indirect
)
