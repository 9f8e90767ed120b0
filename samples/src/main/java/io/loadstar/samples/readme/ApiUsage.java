package io.loadstar.samples.readme;

// tag::readme[]
import io.loadstar.api.AbstractEndpointSource;
import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointUpdate;
import io.loadstar.api.FailureClassifier;
import java.util.List;

// end::readme[]

/** lb-api's README: a discovery source of one's own, and a failure classifier. */
final class ApiUsage {

  private ApiUsage() {}

  // tag::readme[]
  /** Endpoints from the application's own configuration: a source publishes complete lists. */
  static final class ConfigSource extends AbstractEndpointSource {
    private final List<Endpoint> endpoints;

    ConfigSource(List<Endpoint> endpoints) {
      this.endpoints = List.copyOf(endpoints);
    }

    @Override
    protected void onStart(Context context) {
      publish(EndpointUpdate.of(endpoints)); // or EndpointUpdate.failed(error), from any thread
    }
  }

  /** An error the service answered with is not the endpoint's failure. */
  static final FailureClassifier CLASSIFIER =
      error -> error instanceof IllegalArgumentException ? null : CallFailure.classify(error);
  // end::readme[]
}
