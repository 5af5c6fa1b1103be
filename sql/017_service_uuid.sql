-- A service is named in its pages' URLs by a UUID, as every other
-- resource is (lib/domain/service.c, cgi/r_services.c).
ALTER TABLE services ADD COLUMN uuid uuid NOT NULL UNIQUE DEFAULT gen_random_uuid();
