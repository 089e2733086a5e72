"""gRPC front end (Qdrant's port 6334): each RPC becomes the REST call it stands for."""
