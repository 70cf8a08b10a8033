"""Telegram's limits kept by the bot as a whole when several processes send
(bot/outbox/limits.py): the bot-wide budget split between them, a chat's bucket carried
over from the process that sent to it before."""

from __future__ import annotations

import pytest

from bot.outbox.limits import Limits, RateLimiter


def test_three_processes_share_the_bot_wide_thirty_per_second():
    limiter = RateLimiter(Limits())
    limiter.share(3, now=0.0)
    sent = 0
    while limiter.wait(sent + 1, 0.0) == 0:  # a burst to as many chats as it may
        limiter.take(sent + 1, 0.0)
        sent += 1
    assert sent == 10  # a third of the burst, each process, so 30 in all
    assert limiter.wait(999, 0.0) == pytest.approx(1 / 10)  # then 10/s, a third of 30/s


def test_a_process_that_is_alone_again_gets_the_whole_budget_back():
    limiter = RateLimiter(Limits())
    limiter.share(3, now=0.0)
    limiter.share(1, now=0.0)
    assert limiter.spare(0.0) == pytest.approx(30)


def test_many_processes_still_send_one_message_at_a_time():
    limiter = RateLimiter(Limits())
    limiter.share(50, now=0.0)
    assert limiter.wait(1, 0.0) == 0


def test_a_chat_taken_over_waits_as_the_other_process_left_it():
    """Three messages to a private chat in the last half second, by another process: the
    burst of three is spent, the next goes when a token is back (1/s)."""
    limiter = RateLimiter(Limits())
    limiter.seed(42, [9.5, 9.8, 9.9], now=10.0)
    assert limiter.wait(42, 10.0) == pytest.approx(0.5)


def test_a_group_taken_over_keeps_its_twenty_a_minute():
    limiter = RateLimiter(Limits())
    limiter.seed(-100, [59.0, 59.2, 59.4, 59.6, 59.8], now=60.0)  # its burst of five
    assert limiter.wait(-100, 60.0) == pytest.approx(2.0)  # 20/min: a token every 3 s


def test_a_chat_quiet_for_a_while_is_not_held_back():
    limiter = RateLimiter(Limits())
    limiter.seed(42, [1.0, 1.1, 1.2], now=30.0)
    assert limiter.wait(42, 30.0) == 0


def test_a_group_never_gets_more_than_twenty_in_any_minute():
    """The bucket's burst of five on top of 20/min would let 25 through in a minute."""
    limiter = RateLimiter(Limits())
    now, sent = 0.0, []
    while now < 120:
        wait = limiter.wait(-100, now)
        if wait == 0:
            limiter.take(-100, now)
            sent.append(now)
        now += 0.25
    assert max(sum(1 for t in sent if start <= t < start + 60) for start in sent) == 20


def test_a_group_taken_over_counts_the_minute_of_the_other_process():
    limiter = RateLimiter(Limits())
    limiter.seed(-100, [float(t) for t in range(10, 30)], now=30.0)  # 20 in 20 s
    assert limiter.wait(-100, 30.0) == pytest.approx(41.0)  # the first of them + 61 s


def test_a_chat_sent_to_a_little_over_its_rate_stays_spent():
    """Seven messages in 4.4 s, one more than this process's limiter would send (two
    processes, a little out of step): the bucket rebuilt from them goes below zero on the
    way, and is not then mistaken for one never used (full)."""
    limiter = RateLimiter(Limits())
    limiter.seed(42, [36.97, 36.97, 38.0, 38.95, 39.95, 40.95, 41.3], now=41.55)
    assert limiter.wait(42, 41.55) == pytest.approx(0.42)
