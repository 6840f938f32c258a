from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "careledger.outcomes"
    label = "outcomes"
    verbose_name = "Outcomes, reviews and incidents"
