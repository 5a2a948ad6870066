import pytest

from service.compute.hypervisor import LifecycleEvent, LifecycleHub, LifecycleKind

EVENT = LifecycleEvent(uuid="u", name="n", kind=LifecycleKind.STARTED)


async def test_every_subscription_gets_events_published_after_it_opened() -> None:
    hub = LifecycleHub()
    early = hub.subscribe()
    hub.publish(EVENT)
    late = hub.subscribe()
    stopped = LifecycleEvent(uuid="u", name="n", kind=LifecycleKind.STOPPED)
    hub.publish(stopped)
    assert [await early.next(1), await early.next(1)] == [EVENT, stopped]
    assert await late.next(1) == stopped


async def test_a_closed_subscription_ends_after_its_queued_events() -> None:
    hub = LifecycleHub()
    with hub.subscribe() as subscription:
        hub.publish(EVENT)
    hub.publish(EVENT)
    assert [e async for e in subscription] == [EVENT]
    subscription.close()


async def test_next_times_out() -> None:
    with LifecycleHub().subscribe() as subscription, pytest.raises(TimeoutError):
        await subscription.next(0.01)
