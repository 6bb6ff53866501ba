// Integration tests talk to a real broker, registry and S3 API.
jest.setTimeout(120000);
