//go:build tools

// Keeps the kube-apiserver command in the module graph for `go build k8s.io/kubernetes/cmd/kube-apiserver`.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
