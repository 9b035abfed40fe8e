"""Reference providers for every API family, on the generated server stubs, with a local
Maskinporten-like token issuer (`kontrakt serve`)."""
