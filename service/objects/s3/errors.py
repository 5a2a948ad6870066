"""The S3 errors Kumo answers with, each with its status and S3 code (rendered as S3's
XML error body by service/http/fault.py)."""

from typing import ClassVar

from service.errors import ApiError


class S3Error(ApiError):
    """An error with its own S3 code (other ApiErrors get the one their status stands for)."""

    s3_code: ClassVar[str | None] = "InternalError"


class AccessDenied(S3Error):
    code = 403
    s3_code = "AccessDenied"
    explanation = "Access Denied"


class InvalidAccessKeyId(S3Error):
    code = 403
    s3_code = "InvalidAccessKeyId"
    explanation = "The AWS Access Key Id you provided does not exist in our records."


class SignatureDoesNotMatch(S3Error):
    code = 403
    s3_code = "SignatureDoesNotMatch"
    explanation = (
        "The request signature we calculated does not match the signature you provided."
        " Check your key and signing method."
    )


class RequestTimeTooSkewed(S3Error):
    code = 403
    s3_code = "RequestTimeTooSkewed"
    explanation = "The difference between the request time and the current time is too large."


class AuthorizationHeaderMalformed(S3Error):
    code = 400
    s3_code = "AuthorizationHeaderMalformed"
    explanation = "The authorization header is malformed."


class AuthorizationQueryParametersError(S3Error):
    code = 400
    s3_code = "AuthorizationQueryParametersError"
    explanation = "The query-string authentication parameters are malformed."


class ContentSha256Mismatch(S3Error):
    code = 400
    s3_code = "XAmzContentSHA256Mismatch"
    explanation = "The provided 'x-amz-content-sha256' header does not match what was computed."


class InvalidDigest(S3Error):
    code = 400
    s3_code = "InvalidDigest"
    explanation = "The Content-MD5 you specified is not valid."


class MalformedXML(S3Error):
    code = 400
    s3_code = "MalformedXML"
    explanation = "The XML you provided was not well-formed or did not validate."


class InvalidBucketName(S3Error):
    code = 400
    s3_code = "InvalidBucketName"
    explanation = "The specified bucket is not valid."


class NoSuchBucket(S3Error):
    code = 404
    s3_code = "NoSuchBucket"
    explanation = "The specified bucket does not exist."


class NoSuchKey(S3Error):
    code = 404
    s3_code = "NoSuchKey"
    explanation = "The specified key does not exist."


class BucketAlreadyOwnedByYou(S3Error):
    code = 409
    s3_code = "BucketAlreadyOwnedByYou"
    explanation = "Your previous request to create the named bucket succeeded and you own it."


class BucketNotEmpty(S3Error):
    code = 409
    s3_code = "BucketNotEmpty"
    explanation = "The bucket you tried to delete is not empty."


class NotImplementedHere(S3Error):
    code = 501
    s3_code = "NotImplemented"
    explanation = "A header or query you provided implies functionality that is not implemented."


class InvalidRequest(S3Error):
    code = 400
    s3_code = "InvalidRequest"
    explanation = "The request is not valid."


class NoSuchUpload(S3Error):
    code = 404
    s3_code = "NoSuchUpload"
    explanation = "The specified multipart upload does not exist."


class InvalidPart(S3Error):
    code = 400
    s3_code = "InvalidPart"
    explanation = "One or more of the specified parts could not be found."


class InvalidPartOrder(S3Error):
    code = 400
    s3_code = "InvalidPartOrder"
    explanation = "The list of parts was not in ascending order."


class EntityTooSmall(S3Error):
    code = 400
    s3_code = "EntityTooSmall"
    explanation = "Your proposed upload is smaller than the minimum allowed object size."


class InvalidArgument(S3Error):
    code = 400
    s3_code = "InvalidArgument"
    explanation = "Invalid Argument"


class IncompleteBody(S3Error):
    code = 400
    s3_code = "IncompleteBody"
    explanation = "You did not provide the number of bytes specified by the Content-Length."
