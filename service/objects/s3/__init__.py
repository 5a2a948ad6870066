"""An S3-compatible API over the object storage, at /s3 (path-style: /s3/<bucket>/<key>):
a bucket is a container of the project of the EC2 credential that signed the request."""
