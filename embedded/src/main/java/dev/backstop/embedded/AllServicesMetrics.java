package dev.backstop.embedded;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.registry.PrometheusScrapeRequest;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.StateSetSnapshot;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The gateway's Prometheus registry in the embedded mode, whose scrape ({@code /actuator/prometheus} on the
 * gateway's port, the only one the embedded mode opens) also holds every other service's metrics: each
 * service keeps its own Micrometer registry, tagged {@code application}, and a metric several services
 * have (the JVM's, the dead letters, consumer lag) becomes one family with a series per service.
 */
final class AllServicesMetrics extends PrometheusRegistry {

  private final List<PrometheusRegistry> others = new CopyOnWriteArrayList<>();

  void add(PrometheusRegistry other) {
    if (other != this) {
      others.add(other);
    }
  }

  @Override
  public MetricSnapshots scrape() {
    return merged(PrometheusRegistry::scrape, super.scrape());
  }

  @Override
  public MetricSnapshots scrape(PrometheusScrapeRequest request) {
    return merged(r -> r.scrape(request), super.scrape(request));
  }

  @Override
  public MetricSnapshots scrape(Predicate<String> includedNames) {
    return merged(r -> r.scrape(includedNames), super.scrape(includedNames));
  }

  @Override
  public MetricSnapshots scrape(Predicate<String> includedNames, PrometheusScrapeRequest request) {
    return merged(r -> r.scrape(includedNames, request), super.scrape(includedNames, request));
  }

  private MetricSnapshots merged(Function<PrometheusRegistry, MetricSnapshots> scrape, MetricSnapshots own) {
    Map<String, List<MetricSnapshot>> byName = new LinkedHashMap<>();
    own.forEach(s -> byName.computeIfAbsent(s.getMetadata().getPrometheusName(), n -> new ArrayList<>()).add(s));
    for (PrometheusRegistry other : others) {
      scrape.apply(other).forEach(s -> byName.computeIfAbsent(s.getMetadata().getPrometheusName(), n -> new ArrayList<>()).add(s));
    }
    List<MetricSnapshot> all = new ArrayList<>(byName.size());
    byName.values().forEach(family -> all.add(family.size() == 1 ? family.get(0) : merge(family)));
    return new MetricSnapshots(all);
  }

  /** One family from several services' snapshots of it; a series seen twice (same labels) is kept once. */
  @SuppressWarnings("unchecked")
  private static MetricSnapshot merge(List<MetricSnapshot> family) {
    MetricSnapshot first = family.get(0);
    List<DataPointSnapshot> points = new ArrayList<>();
    Set<Labels> seen = new HashSet<>();
    for (MetricSnapshot snapshot : family) {
      if (snapshot.getClass() != first.getClass()) {
        continue;
      }
      for (DataPointSnapshot point : snapshot.getDataPoints()) {
        if (seen.add(point.getLabels())) {
          points.add(point);
        }
      }
    }
    List<?> list = points;
    return switch (first) {
      case CounterSnapshot c -> new CounterSnapshot(c.getMetadata(), (List<CounterSnapshot.CounterDataPointSnapshot>) list);
      case GaugeSnapshot g -> new GaugeSnapshot(g.getMetadata(), (List<GaugeSnapshot.GaugeDataPointSnapshot>) list);
      case HistogramSnapshot h -> new HistogramSnapshot(h.isGaugeHistogram(), h.getMetadata(),
          (List<HistogramSnapshot.HistogramDataPointSnapshot>) list);
      case SummarySnapshot s -> new SummarySnapshot(s.getMetadata(), (List<SummarySnapshot.SummaryDataPointSnapshot>) list);
      case InfoSnapshot i -> new InfoSnapshot(i.getMetadata(), (List<InfoSnapshot.InfoDataPointSnapshot>) list);
      case StateSetSnapshot s -> new StateSetSnapshot(s.getMetadata(), (List<StateSetSnapshot.StateSetDataPointSnapshot>) list);
      case UnknownSnapshot u -> new UnknownSnapshot(u.getMetadata(), (List<UnknownSnapshot.UnknownDataPointSnapshot>) list);
      default -> first;
    };
  }
}
