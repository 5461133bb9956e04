"""When a replica may trust the access generation it was told of, rather than ask the database."""

from tsa.access.watch import AccessWatch


def listening(value: str | None = None) -> AccessWatch:
    watch = AccessWatch()
    watch._listening_changed(True)
    if value is not None:
        watch.learned(value, watch.epoch)
    return watch


def test_nothing_is_known_until_a_query_begun_while_listening_says_so():
    watch = AccessWatch()
    epoch = watch.epoch
    watch.learned("4", epoch)
    assert watch.current() is None  # not listening: an announcement could have been missed
    watch._listening_changed(True)
    watch.learned("4", epoch)
    assert watch.current() is None  # the query began before listening did
    watch.learned("4", watch.epoch)
    assert watch.current() == "4"


def test_announcements_raise_the_generation_and_never_lower_it():
    watch = listening("4")
    watch.announced("6")
    watch.announced("5")  # late, out of order
    assert watch.current() == "6"
    watch.learned("5", watch.epoch)  # a query that read before the announcement arrived
    assert watch.current() == "6"


def test_an_announcement_alone_never_establishes_the_generation():
    watch = listening()
    watch.announced("7")
    assert watch.current() is None


def test_a_local_write_forgets_the_generation_until_a_later_query():
    watch = listening("4")
    before_write = watch.epoch
    watch.invalidate()
    assert watch.current() is None
    watch.announced("3")  # an older change from elsewhere cannot vouch for this replica's write
    watch.learned("4", before_write)  # a query in flight during the write may have read before it
    assert watch.current() is None
    watch.learned("5", watch.epoch)
    assert watch.current() == "5"


def test_losing_the_connection_forgets_the_generation():
    watch = listening("4")
    in_flight = watch.epoch
    watch._listening_changed(False)
    assert watch.current() is None
    watch.learned("4", watch.epoch)
    assert watch.current() is None
    watch._listening_changed(True)
    watch.learned("4", in_flight)
    assert watch.current() is None
