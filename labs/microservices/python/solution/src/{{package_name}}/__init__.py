"""Three services in one repository: users, payments and notifications."""
