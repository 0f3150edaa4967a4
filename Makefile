# Code generation for the Scalekit-compatible API and Gatehouse's own API.
#
#   make schema2proto   rewrite proto/scalekit/v1/**.proto from the wire schema
#   make generate       regenerate gen/ (Go + Connect) from proto/scalekit and proto/gatehouse

PROTOC      ?= protoc
SCHEMA      ?= internal/wirecheck/testdata/scalekit-wire-schema.txt
GEN_MODULE  := github.com/gatehouse/gatehouse/gen
# proto/scalekit: wire-exact with Scalekit (gen/scalekit). proto/gatehouse:
# Gatehouse's own gatehouse.v1 services (gen/gatehouse). One protoc run
# compiles both; each file's output depends only on that file.
SCALEKIT_PROTOS  = $(shell find proto/scalekit -name '*.proto' | LC_ALL=C sort)
GATEHOUSE_PROTOS = $(shell find proto/gatehouse -name '*.proto' | LC_ALL=C sort)
PROTO_FILES      = $(SCALEKIT_PROTOS) $(GATEHOUSE_PROTOS)

.PHONY: all generate schema2proto tools clean-gen

all: generate

# protoc plugins, built from the versions pinned by the `tool` block in go.mod.
tools:
	@mkdir -p bin
	go build -o bin/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
	go build -o bin/protoc-gen-connect-go connectrpc.com/connect/cmd/protoc-gen-connect-go

schema2proto:
	go run ./tools/schema2proto -schema $(SCHEMA) -out proto

# Remove previously generated code (only *.pb.go / *.connect.go), then empty dirs.
clean-gen:
	@if [ -d gen ]; then \
		find gen -type f \( -name '*.pb.go' -o -name '*.connect.go' \) -delete; \
		find gen -mindepth 1 -type d -empty -delete; \
	fi

generate: tools clean-gen
	@mkdir -p gen
	$(PROTOC) -I proto -I third_party/googleapis -I /usr/include \
		--plugin=protoc-gen-go=bin/protoc-gen-go \
		--plugin=protoc-gen-connect-go=bin/protoc-gen-connect-go \
		--go_out=gen --go_opt=module=$(GEN_MODULE) \
		--connect-go_out=gen --connect-go_opt=module=$(GEN_MODULE) \
		$(PROTO_FILES)
