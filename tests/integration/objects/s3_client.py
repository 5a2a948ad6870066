"""An S3 caller for tests: boto3 signing with a person's EC2 credential, against the
in-process app's /s3 over real HTTP (its blocking calls run in a thread, so the app's
loop keeps serving)."""

import asyncio
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest

from tests.integration.identity.conftest import Api, Client, Person


class S3:
    """boto3's S3 client as one person; `call` runs one operation."""

    def __init__(self, client: Client, access: str, secret: str) -> None:
        self.access, self.secret = access, secret
        self.boto = boto3.client(
            "s3",
            endpoint_url=str(client.make_url("/s3")),
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            region_name="RegionOne",
            config=botocore.config.Config(
                s3={"addressing_style": "path"}, retries={"max_attempts": 1}
            ),
        )

    async def call(self, operation: str, **params: Any) -> Any:
        """The operation's parsed answer; a streamed Body is read whole (as `Body`)."""

        def run() -> Any:
            answer = getattr(self.boto, operation)(**params)
            if "Body" in answer:
                answer["Body"] = answer["Body"].read()
            return answer

        return await asyncio.to_thread(run)

    async def error(self, operation: str, **params: Any) -> tuple[int, str]:
        """The status and S3 error code of an operation that must fail."""
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            await self.call(operation, **params)
        response = raised.value.response
        return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


async def ec2_credential(client: Client, person: Person) -> tuple[str, str]:
    """A new EC2 credential of `person` on its project: (access, secret)."""
    api = Api(client, person.token)
    status, body = await api.call(
        "POST", f"users/{person.user_id}/credentials/OS-EC2", {"tenant_id": person.project_id}
    )
    assert status == 201, body
    return body["credential"]["access"], body["credential"]["secret"]


async def s3_of(client: Client, person: Person) -> S3:
    return S3(client, *await ec2_credential(client, person))
