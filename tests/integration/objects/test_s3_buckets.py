"""The S3 API's buckets, through boto3: the containers of the credential's project."""

from tests.integration.identity.conftest import Client, Person
from tests.integration.objects.conftest import Swift
from tests.integration.objects.s3_client import S3, s3_of


async def test_buckets_are_the_projects_containers(alice_s3: S3, swift: Swift) -> None:
    await alice_s3.call("create_bucket", Bucket="photos")
    assert [c["name"] for c in await swift.json()] == ["photos"]
    assert (await swift.call("PUT", "from-swift")).status == 201
    listed = await alice_s3.call("list_buckets")
    assert [b["Name"] for b in listed["Buckets"]] == ["from-swift", "photos"]
    assert listed["Owner"]["ID"] == swift.project_id
    await alice_s3.call("head_bucket", Bucket="from-swift")
    location = await alice_s3.call("get_bucket_location", Bucket="photos")
    assert location["LocationConstraint"] is None
    assert await alice_s3.error("create_bucket", Bucket="photos") == (
        409,
        "BucketAlreadyOwnedByYou",
    )
    await alice_s3.call("delete_bucket", Bucket="photos")
    assert [c["name"] for c in await swift.json()] == ["from-swift"]


async def test_bucket_errors(alice_s3: S3, swift: Swift) -> None:
    assert await alice_s3.error("head_bucket", Bucket="missing") == (404, "404")
    assert await alice_s3.error("delete_bucket", Bucket="missing") == (404, "NoSuchBucket")
    assert await alice_s3.error("list_objects_v2", Bucket="missing") == (404, "NoSuchBucket")
    assert await alice_s3.error("create_bucket", Bucket="Not_A_Bucket") == (
        400,
        "InvalidBucketName",
    )
    assert (await swift.call("PUT", "full")).status == 201
    assert (await swift.call("PUT", "full/thing", body=b"x")).status == 201
    assert await alice_s3.error("delete_bucket", Bucket="full") == (409, "BucketNotEmpty")


async def test_another_projects_buckets_are_out_of_reach(
    client: Client, alice_s3: S3, bob: Person
) -> None:
    await alice_s3.call("create_bucket", Bucket="alices")
    await alice_s3.call("put_object", Bucket="alices", Key="k", Body=b"secret")
    bobs = await s3_of(client, bob)
    assert (await bobs.call("list_buckets"))["Buckets"] == []
    assert await bobs.error("get_object", Bucket="alices", Key="k") == (404, "NoSuchBucket")
    assert await bobs.error("delete_bucket", Bucket="alices") == (404, "NoSuchBucket")
