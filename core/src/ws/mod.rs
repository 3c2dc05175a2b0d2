//! WebSocket (RFC 6455, RFC 7692): frames, messages, close handshake, permessage-deflate.
