"""The timeout watchdog (`crudql.timeouts.Watchdog`) runs every armed alarm at its deadline,
whatever order alarms are armed in, and never a disarmed one; it is woken only when an alarm
is due before the deadline it sleeps until."""

from __future__ import annotations

import threading
import time

from crudql.timeouts import Deadline, Watchdog


def _alarm(dog: Watchdog, seconds: float, fired: dict[str, float], name: str, done: threading.Event | None = None) -> object:
    def callback() -> None:
        fired[name] = time.monotonic()
        if done is not None:
            done.set()

    return dog.arm(Deadline(seconds), callback)


def test_alarms_fire_at_their_deadlines_in_any_arming_order() -> None:
    dog, fired, last = Watchdog(), {}, threading.Event()
    start = time.monotonic()
    _alarm(dog, 0.6, fired, "late", last)
    _alarm(dog, 0.4, fired, "middle")
    _alarm(dog, 0.1, fired, "early")  # due before the one the thread sleeps until: it is woken
    disarmed = dog.arm(Deadline(0.2), lambda: fired.setdefault("disarmed", 0.0))
    assert disarmed.disarm() is False
    assert last.wait(5)
    assert sorted(fired, key=fired.__getitem__) == ["early", "middle", "late"]
    for name, seconds in (("early", 0.1), ("middle", 0.4), ("late", 0.6)):
        assert fired[name] - start >= seconds - 0.01


def test_many_requests_arm_and_disarm_and_a_late_alarm_still_fires() -> None:
    dog, fired, done = Watchdog(), {}, threading.Event()
    for _ in range(1000):  # requests that finish in time
        assert dog.arm(Deadline(30), lambda: fired.setdefault("never", 0.0)).disarm() is False
    assert len(dog._heap) <= 2  # finished requests' alarms do not pile up
    alarm = dog.arm(Deadline(0.05), lambda: done.set())
    assert done.wait(5) and alarm.disarm() is True
    assert "never" not in fired


def test_an_alarm_with_every_fires_again_until_disarmed() -> None:
    dog, times, thrice = Watchdog(), [], threading.Event()

    def callback() -> None:
        times.append(time.monotonic())
        if len(times) == 3:
            thrice.set()

    alarm = dog.arm(Deadline(0.05), callback, every=0.05)
    assert thrice.wait(5) and alarm.disarm() is True
    assert 0.05 < alarm.every <= 1.0  # it backs off: 0.05, 0.1, 0.2, ...
    count = len(times)
    time.sleep(0.2)
    assert len(times) == count  # never after disarm
    once: list[float] = []
    dog.arm(Deadline(0.01), lambda: once.append(time.monotonic()))
    time.sleep(0.2)
    assert len(once) == 1  # without `every`: once
