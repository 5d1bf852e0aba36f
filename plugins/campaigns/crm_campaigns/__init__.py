"""crm-campaigns: segments, campaigns, personalised messages, responses and ROI."""
