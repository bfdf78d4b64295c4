package dev.backstop.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.pitr.WindowCalculator.Base;
import dev.backstop.pitr.WindowCalculator.Facts;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class WindowCalculatorTest {

  static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");
  static final long SYSTEM = 7_000_000_001L;
  static final long MB = 1024 * 1024;

  /** A base ending {@code daysAgo} before NOW whose WAL runs from {@code startMb} to {@code startMb + 1} MiB. */
  static Base base(String id, double daysAgo, long startMb) {
    return base(id, daysAgo, startMb, SYSTEM);
  }

  static Base base(String id, double daysAgo, long startMb, long system) {
    return new Base(new BaseRef(id, NOW.minusSeconds((long) (daysAgo * 86_400)), 1, new Lsn(startMb * MB),
        new Lsn((startMb + 1) * MB)), system);
  }

  static Facts facts(long coverageMb, long durableMb) {
    return new Facts(SYSTEM, new Lsn(coverageMb * MB), new Lsn(durableMb * MB), NOW.minusSeconds(1), null, null, null, null);
  }

  static final Base OLD9 = base("b-9d", 9, 100);
  static final Base OLD8 = base("b-8d", 8, 200);
  static final Base MID = base("b-2d", 2, 800);
  static final Base NEW = base("b-1h", 1.0 / 24, 900);
  static final Instant GAP_AT = NOW.minusSeconds(3 * 86_400);
  static final Facts AFTER_GAP = new Facts(SYSTEM, new Lsn(500 * MB), new Lsn(1000 * MB), NOW.minusSeconds(1), GAP_AT,
      "WAL missing from the archive at 0/1F400000", null, null);

  record Case(String scenario, String unavailable, Facts facts, List<Base> bases, PitrState state, Instant earliest,
      List<String> usable, String reasonContains) {

    @Override
    public String toString() {
      return scenario;
    }
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        new Case("a Sandbox addon is unavailable whatever is archived", "Sandbox plans have no point-in-time recovery",
            facts(0, 1000), List.of(OLD9), PitrState.UNAVAILABLE, null, List.of(), "Sandbox"),
        new Case("nothing streamed yet: starting", null, Facts.NONE, List.of(), PitrState.STARTING, null, List.of(),
            "starting"),
        new Case("WAL archived but no base yet: starting", null, facts(0, 50), List.of(), PitrState.STARTING, null,
            List.of(), "first base"),
        new Case("streaming from the primary standing in for the secondary: streaming, and the reason says so", null,
            new Facts(SYSTEM, new Lsn(0), new Lsn(1000 * MB), NOW.minusSeconds(1), null, null, null, null,
                "the primary db-1:5432 (standing in: the secondary db-2:5432 is unreachable since 2026-12-01T11:58:00Z)"),
            List.of(MID), PitrState.STREAMING, MID.ref().endTime(), List.of("b-2d"),
            "streaming from the primary db-1:5432 (standing in: the secondary db-2:5432 is unreachable"),
        new Case("a base whose WAL is not durable to its stop: starting", null, facts(0, 900), List.of(NEW),
            PitrState.STARTING, null, List.of(), "not archived to its end"),
        new Case("a base whose WAL reached its stop: streaming from its end", null, facts(0, 901), List.of(NEW),
            PitrState.STREAMING, NEW.ref().endTime(), List.of("b-1h"), null),
        new Case("bases all inside 7 days: earliest is the oldest one's end", null, facts(0, 1000), List.of(NEW, MID),
            PitrState.STREAMING, MID.ref().endTime(), List.of("b-2d", "b-1h"), null),
        new Case("the newest base at or before now-7d bounds the window, older ones are not the earliest", null,
            facts(0, 1000), List.of(OLD9, OLD8, MID, NEW), PitrState.STREAMING, OLD8.ref().endTime(),
            List.of("b-9d", "b-8d", "b-2d", "b-1h"), null),
        new Case("a base older than the archive's coverage (a gap since) is not usable", null, facts(150, 1000),
            List.of(OLD9, OLD8, MID), PitrState.STREAMING, OLD8.ref().endTime(), List.of("b-8d", "b-2d"), null),
        new Case("a gap with no base after it: broken since the gap", null, AFTER_GAP, List.of(OLD9, OLD8),
            PitrState.BROKEN, null, List.of(), "missing from the archive"),
        new Case("a gap then a base taken after it: streaming again from that base", null, AFTER_GAP,
            List.of(OLD9, OLD8, MID), PitrState.STREAMING, MID.ref().endTime(), List.of("b-2d"), null),
        new Case("a base of another cluster (system id changed) is not usable", null, facts(0, 1000),
            List.of(base("other", 2, 800, 42L)), PitrState.STARTING, null, List.of(), "first base"),
        new Case("stream down past its bound: broken, the earliest instant kept", null,
            new Facts(SYSTEM, Lsn.ZERO, new Lsn(1000 * MB), NOW.minusSeconds(900), null, null, NOW.minusSeconds(900), null),
            List.of(MID), PitrState.BROKEN, MID.ref().endTime(), List.of("b-2d"), "stream is down since"),
        new Case("the probe has not reached the base's end yet: starting", null,
            new Facts(SYSTEM, Lsn.ZERO, new Lsn(1000 * MB), NEW.ref().endTime().minusSeconds(5), null, null, null, null),
            List.of(NEW), PitrState.STARTING, null, List.of("b-1h"), "latest archived instant"))
        .map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void the_window_follows_the_design_table(Case c) {
    PitrWindow window = WindowCalculator.calculate("pg-1", c.unavailable(), c.facts(), c.bases(), NOW);

    assertThat(window.state()).isEqualTo(c.state());
    assertThat(window.earliest()).isEqualTo(c.earliest());
    assertThat(window.bases()).extracting(BaseRef::backupId).containsExactlyElementsOf(c.usable());
    if (c.reasonContains() != null) {
      assertThat(window.reason()).contains(c.reasonContains());
    }
    if (c.state() == PitrState.STREAMING) {
      assertThat(window.latest()).isEqualTo(c.facts().latest());
      if (c.facts().fallback() == null) {
        assertThat(window.reason()).isNull();
      }
    }
    if (c.state() == PitrState.BROKEN) {
      assertThat(window.brokenSince()).isEqualTo(c.facts().streamDownSince() != null ? c.facts().streamDownSince() : GAP_AT);
    }
  }

  @ParameterizedTest(name = "slot warning carried in state {0}")
  @MethodSource("warnedStates")
  void the_slot_warning_is_carried_whatever_the_state(Facts facts) {
    Facts warned = new Facts(facts.systemId(), facts.coverageStart(), facts.durable(), facts.latest(), facts.gapSince(),
        facts.gapReason(), facts.streamDownSince(), "max_slot_wal_keep_size (1GB) reached");

    assertThat(WindowCalculator.calculate("pg-1", null, warned, List.of(MID), NOW).slotWarning())
        .isEqualTo("max_slot_wal_keep_size (1GB) reached");
  }

  static Stream<Facts> warnedStates() {
    return Stream.of(Facts.NONE, facts(0, 1000), AFTER_GAP);
  }
}
