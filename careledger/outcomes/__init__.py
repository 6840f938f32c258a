"""Working? The person's outcomes, their reviews, incidents and disputes."""
