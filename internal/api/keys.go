package api

import (
	"context"
	"time"

	"connectrpc.com/connect"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
	"github.com/gatehouse/gatehouse/gen/gatehouse/v1/gatehousev1connect"
	"github.com/gatehouse/gatehouse/internal/signing"
)

// keysAPI implements gatehouse.v1.KeysService: listing and rotating the
// signing keys (docs/oauth.md, "Signing keys").
type keysAPI struct {
	gatehousev1connect.UnimplementedKeysServiceHandler
	keys *signing.Keyring
}

func (h *keysAPI) ListSigningKeys(ctx context.Context, _ *connect.Request[gatehousev1.ListSigningKeysRequest]) (*connect.Response[gatehousev1.ListSigningKeysResponse], error) {
	keys, err := h.keys.List(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&gatehousev1.ListSigningKeysResponse{Keys: signingKeysProto(keys)}), nil
}

func (h *keysAPI) RotateSigningKey(ctx context.Context, req *connect.Request[gatehousev1.RotateSigningKeyRequest]) (*connect.Response[gatehousev1.RotateSigningKeyResponse], error) {
	in := req.Msg
	// Bounded before the multiplication so it cannot overflow; Rotate
	// refuses anything over MaxPublishFor.
	delay := time.Duration(min(in.GetPublicationDelaySeconds(), 1<<32)) * time.Second
	nk, err := h.keys.Rotate(ctx, signing.Rotation{PublishFor: delay,
		Immediate: in.GetImmediate(), RemovePrevious: in.GetRemovePrevious()})
	if err != nil {
		return nil, err
	}
	keys, err := h.keys.List(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&gatehousev1.RotateSigningKeyResponse{Key: signingKeyProto(nk), Keys: signingKeysProto(keys)}), nil
}

func signingKeysProto(keys []signing.Key) []*gatehousev1.SigningKey {
	out := make([]*gatehousev1.SigningKey, len(keys))
	for i, k := range keys {
		out[i] = signingKeyProto(k)
	}
	return out
}

func signingKeyProto(k signing.Key) *gatehousev1.SigningKey {
	return &gatehousev1.SigningKey{Id: k.ID, State: string(k.State), Algorithm: k.Alg, CreateTime: ts(k.CreatedAt),
		ActiveTime: ts(k.ActiveAt), RetireTime: ts(k.RetiredAt), RemoveTime: ts(k.RemovedAt)}
}
