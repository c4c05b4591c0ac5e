"""The engine: providers read from their fixtures and schemas, the generic request path
(routing, auth, validation, actions, rendering, provider-styled errors) and the state it keeps."""
