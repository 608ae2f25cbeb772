"""The guest-observed pause from ping replies (no ping run here)."""

from nova_pwnetizer.bench import probe


def replies(times):
    p = object.__new__(probe.PingProbe)
    p.replies = [(t, i) for i, t in enumerate(times)]
    return p


# Replies every 2 ms; the guest paused from 10.0305 to 10.0555 (its replies
# burst out at 10.058), and the host scheduled it late for 80 ms afterwards.
TIMES = ([10.0 + 0.002 * i for i in range(16)]         # ... 10.030
         + [10.058, 10.0581, 10.060, 10.062]
         + [10.142, 10.144, 10.146])


def test_gap_across_is_the_silence_spanning_the_pause():
    p = replies(TIMES)
    assert abs(p.gap_across(10.0305, 10.0555) - 0.028) < 1e-9


def test_longest_gap_counts_every_silence():
    p = replies(TIMES)
    assert abs(p.longest_gap() - 0.080) < 1e-9
    assert abs(p.longest_gap(10.0, 10.1) - 0.028) < 1e-9   # the window cuts the later one


def test_a_pause_no_reply_spans_has_no_gap():
    assert replies(TIMES).gap_across(11.0, 11.01) is None
    assert replies([]).longest_gap() is None
