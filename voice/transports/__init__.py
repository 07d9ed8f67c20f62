"""Thin serializers between a wire format and voice.pipeline.CallSession."""
