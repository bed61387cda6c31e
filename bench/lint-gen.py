#!/usr/bin/env python3
"""Generate a large Kubernetes manifest set for timing `lameduck lint`.

Usage: bench/lint-gen.py SIZE_MB OUT.yaml

Each block is internal/lint/testdata/good.yaml (Deployment, Service,
Ingress, PodDisruptionBudget) in its own namespace, followed by a
namespace-less Deployment and Service with their own labels (what
"helm template" emits). Blocks are appended until the file reaches
SIZE_MB megabytes (10^6 bytes). The output is not committed: regenerate it.
"""
import os
import sys

size = float(sys.argv[1]) * 1e6
out = sys.argv[2]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
good = open(os.path.join(root, 'internal/lint/testdata/good.yaml')).read()
good = good.split('---\napiVersion: v1\nkind: ServiceAccount')[0].rstrip('\n-') + '\n'
bare = '''---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api-%(i)d
spec:
  replicas: 2
  selector:
    matchLabels: {app: api-%(i)d}
  template:
    metadata:
      labels: {app: api-%(i)d}
    spec:
      containers:
      - name: api
        image: registry.example.com/api:%(i)d
        ports: [{name: http, containerPort: 8080}]
        lifecycle: {preStop: {sleep: {seconds: 5}}}
        readinessProbe: {httpGet: {path: /readyz, port: http}}
---
apiVersion: v1
kind: Service
metadata:
  name: api-%(i)d
spec:
  selector: {app: api-%(i)d}
  ports: [{port: 80, targetPort: http}]
'''
n = 0
with open(out, 'w') as f:
    written = 0
    while written < size:
        block = ('---\n' if n else '') + good.replace('namespace: shop', 'namespace: ns%d' % n) + bare % {'i': n}
        f.write(block)
        written += len(block.encode())
        n += 1
print('%s: %d bytes, %d blocks, %d objects' % (out, written, n, 6 * n))
