output "repository_urls" {
  description = "Repository URL per service, for `docker push` and the image field of manifests."
  value       = { for key, repo in aws_ecr_repository.this : key => repo.repository_url }
}
