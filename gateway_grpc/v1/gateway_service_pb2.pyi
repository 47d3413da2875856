from gateway_grpc.v1 import chat_pb2 as _chat_pb2
from gateway_grpc.v1 import completions_pb2 as _completions_pb2
from gateway_grpc.v1 import embeddings_pb2 as _embeddings_pb2
from gateway_grpc.v1 import media_pb2 as _media_pb2
from gateway_grpc.v1 import models_pb2 as _models_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
