-- branding is how an app's hosted billing page looks and who may embed it:
-- a JSON object with the keys displayName, logoUrl, accentColor and
-- frameAncestors (an array of origins), each left out when unset. Apps made
-- before it have none, the empty object.
ALTER TABLE apps ADD COLUMN branding TEXT NOT NULL DEFAULT '{}';
